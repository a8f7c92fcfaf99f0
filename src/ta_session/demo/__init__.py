"""The embedded demonstration (``ta demo``): a throwaway project and a scripted agent."""
