"""The local console: a fake Slack on loopback, a signed-request simulator, and a terminal."""
