"""LLM engine adapters: one async interface over the OpenAI chat completions, Gemini and Bedrock Converse
wire formats. No models. Import from the modules (``apps.engines.base``, ``apps.engines.service``), not from
this package, so that loading the app imports nothing heavy."""
