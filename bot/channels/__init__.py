"""Channels: each turns its wire protocol into InboundMessage and sends outbox rows back."""
