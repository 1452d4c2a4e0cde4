"""Running an installation: the health check of database, Prefect and connectors (``doctor``),
setting up Prefect (``prefect_env``), how many items run at once (``concurrency``) and where
the browser for legacy web systems is (``browser_location``)."""
