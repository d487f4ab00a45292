"""Back-office workflows on the pipeline engine: document analysis (map-reduce over a document's
pages on the workers) and application review (extract, validate, assess, decide, with a person
deciding the risky ones). Their models are the agents app's (imported into agents.models)."""
