# Test double of the imerit-ango package (see ../README.md): the modules
# plugins, plugin_logger, sdk and models, enough for plugin scripts written
# for that SDK to run against labelhub unchanged.
