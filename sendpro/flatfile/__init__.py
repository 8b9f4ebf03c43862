"""Reading and writing flat files through declarative layouts."""
