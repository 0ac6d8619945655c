"""Payment-provider gateways on the official SDKs (``domain.gateway.Gateway``)."""
