"""The /release sub-commands: parse text, call the domain, say what happened."""
