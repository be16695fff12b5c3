"""Code the CDK app's functions share, shipped as a layer."""

GREETING = "hello from the layer"
