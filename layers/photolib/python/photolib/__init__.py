"""Code shared by the photo functions, packaged as the photolib Lambda layer."""
