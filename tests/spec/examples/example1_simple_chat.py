import asyncio
from llmcore import LLMCore

async def main():
    # Initialize with default config (loads from ~/.config/llmcore/config.toml, .env, env vars)
    llm = LLMCore()

    try:
        # Send a message, get the full response back
        response = await llm.chat("What is the capital of France?")
        print(f"LLM Response: {response}")

        # Example using a specific provider and model
        response_ollama = await llm.chat(
            "Explain the concept of recursion in programming.",
            provider_name="ollama",
            model_name="llama3",
            temperature=0.5 # Pass provider-specific args
        )
        print(f"\nOllama Response:\n{response_ollama}")

    except Exception as e:
        print(f"An error occurred: {e}")
    finally:
        await llm.close() # Close storage connections etc.

if __name__ == "__main__":
    asyncio.run(main())
