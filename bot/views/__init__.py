"""Block Kit surfaces, one module each, built with slack_sdk's validating models."""
