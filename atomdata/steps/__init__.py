"""The steps of the build: one builder per published table or close family of tables, listed in ``registry``."""
