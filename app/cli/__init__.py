"""Command-line commands other than the window: `chatdesk ask`, `chatdesk key`."""
