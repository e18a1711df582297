"""(being written)"""

__all__ = []

# numpy's functions (np.linalg.…) that reach this module's primitives on traced values
NUMPY_FUNCTIONS = {}
