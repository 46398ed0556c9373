import asyncio
from llmcore import LLMCore

async def main():
    # Assume config points to ChromaDB/pgvector and an embedding model
    llm = LLMCore()
    collection = "my_documents"

    try:
        # --- Add documents to the vector store ---
        docs_to_add = [
            {"content": "The Eiffel Tower is located in Paris, France.", "metadata": {"source": "wiki/eiffel"}, "id": "doc1"},
            {"content": "Paris is known for its museums, like the Louvre.", "metadata": {"source": "wiki/paris"}, "id": "doc2"},
            {"content": "The primary programming language used in LLMCore is Python.", "metadata": {"source": "llmcore/readme"}, "id": "doc3"}
        ]
        print(f"Adding {len(docs_to_add)} documents to collection '{collection}'...")
        doc_ids = await llm.add_documents_to_vector_store(docs_to_add, collection_name=collection)
        print(f"Added document IDs: {doc_ids}")

        # --- Perform a similarity search (optional direct check) ---
        query = "What language is used for LLMCore?"
        search_results = await llm.search_vector_store(query, k=1, collection_name=collection)
        print(f"\nDirect search results for '{query}':")
        for doc in search_results:
            print(f"- ID: {doc.id}, Score: {doc.score:.4f}, Content: {doc.content[:50]}...")

        # --- Use RAG in a chat ---
        print("\n--- Chatting with RAG enabled ---")
        rag_response = await llm.chat(
            "What programming language is mentioned in the documents?",
            enable_rag=True,
            rag_collection_name=collection,
            rag_retrieval_k=1, # Retrieve top 1 relevant doc
            system_message="Answer based *only* on the provided context documents."
        )
        print(f"RAG Response: {rag_response}")

    except Exception as e:
        print(f"An error occurred: {e}")
    finally:
        # Optionally delete documents if just testing
        # await llm.delete_documents_from_vector_store(["doc1", "doc2", "doc3"], collection_name=collection)
        await llm.close()

if __name__ == "__main__":
    asyncio.run(main())
