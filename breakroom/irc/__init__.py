"""IRC: the ircd's lifecycle and the bot runtime. With ``bots/``, the only code that imports irc3."""
