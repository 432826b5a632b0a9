"""Mapping between the platform's rows and FHIR R4 resources (one module per resource type).

``to_fhir`` functions turn rows into plain JSON dicts; ``parse`` functions validate an incoming
dict against the ``fhir.resources.R4B`` model and return the platform's own draft values.
"""
