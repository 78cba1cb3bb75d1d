"""Pure ``DataFrame -> DataFrame`` transforms of the batch layer, unit-tested on tiny inputs."""
