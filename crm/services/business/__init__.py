"""Telegram Business: client chats that log themselves (issue 17).

connections    a manager's connection (connect, rights, disconnect) and /business's state
chats          each message matched to a contact (or the manager asked), edits, deletions,
               linking a chat, a new contact from it, "not a client"
conversations  messages grouped into one interaction per chat per gap of inactivity
"""
