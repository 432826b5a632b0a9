"""manbing.db"""
