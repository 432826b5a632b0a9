"""manbing.devices"""
