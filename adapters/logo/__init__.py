"""LoGo Chat-style webhook (``POST /logo/events``): signed JSON in, replies to ``reply_url``."""
