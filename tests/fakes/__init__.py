"""Local stand-ins for the outside systems the bot talks to, served on loopback."""
