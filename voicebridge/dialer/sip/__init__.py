"""Sans-IO SIP: messages, digest authentication, the INVITE client (UAC)."""
