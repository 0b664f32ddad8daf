"""A stand-in for the parts of mmdet that the seed's rewriters target."""
