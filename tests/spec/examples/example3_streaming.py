import asyncio
from llmcore import LLMCore

async def main():
    llm = LLMCore()
    session_id = "streaming_test_session"

    try:
        print("User: Tell me a short story about a brave knight.")
        print("Assistant (streaming): ", end="", flush=True)

        # Use stream=True to get an async generator
        response_stream = await llm.chat(
            "Tell me a short story about a brave knight.",
            session_id=session_id,
            stream=True,
            save_session=True # Save the full response once streaming completes
        )

        async for chunk in response_stream:
            print(chunk, end="", flush=True)

        print("\n--- Stream finished ---")

        # Verify session was saved
        session = llm.get_session(session_id)
        if session:
            print(f"\nSession '{session_id}' saved with {len(session.messages)} messages.")
            # Optionally print last message content
            # print(f"Last message: {session.messages[-1].content}")

    except Exception as e:
        print(f"\nAn error occurred: {e}")
    finally:
        await llm.close()

if __name__ == "__main__":
    asyncio.run(main())
