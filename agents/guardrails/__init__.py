"""Guardrails of the pipeline's guard node: PII redaction, the prompt-injection screen, and
spotting a customer who asks for a person, in several languages."""
