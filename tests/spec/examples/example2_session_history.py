import asyncio
from llmcore import LLMCore
import uuid

async def main():
    # Use a specific config file and prefix
    llm = LLMCore(
        config_file_path="my_app_config.toml",
        env_prefix="MYAPP"
    )
    session_id = f"user_conversation_{uuid.uuid4()}" # Generate a unique session ID

    try:
        print(f"Starting session: {session_id}")

        # First message
        response1 = await llm.chat(
            "My name is Alex. What is quantum computing?",
            session_id=session_id,
            system_message="You are a helpful physics tutor.",
            save_session=True # Ensure history is saved
        )
        print(f"Tutor: {response1}")

        # Second message - LLM should have context from the first message
        response2 = await llm.chat(
            "How does it relate to my name?", # Silly follow-up
            session_id=session_id,
            save_session=True
        )
        print(f"Tutor: {response2}")

        # List sessions to see ours
        sessions = llm.list_sessions()
        print("\nAvailable Sessions:", sessions)

    except Exception as e:
        print(f"An error occurred: {e}")
    finally:
        await llm.close()

if __name__ == "__main__":
    asyncio.run(main())
