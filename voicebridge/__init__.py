"""voicebridge: phones the members of a group chat who have not read an important message."""

__version__ = "0.1.0"
