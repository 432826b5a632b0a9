"""manbing.web"""
