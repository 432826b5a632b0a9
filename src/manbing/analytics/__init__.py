"""manbing.analytics"""
