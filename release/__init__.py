"""The release policy as plain Python: no Slack, HTTP or database in here."""
