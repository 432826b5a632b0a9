"""manbing.fhir"""
