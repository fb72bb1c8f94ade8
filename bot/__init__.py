"""Slack glue: the Bolt app, its listeners, Block Kit views, and the run modes."""
