"""manbing.synth"""
