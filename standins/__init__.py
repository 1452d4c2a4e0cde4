"""Realistic local stand-ins for systems outside this project (case system, registry, legacy web
UI, mail drop). Tests and the demo start them on loopback; connectors talk to them over the
network exactly as to the real thing."""
