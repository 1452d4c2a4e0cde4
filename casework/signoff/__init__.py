"""Sign-off tasks: the robot's prepared work waiting for a caseworker's decision."""
