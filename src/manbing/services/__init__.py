"""manbing.services"""
