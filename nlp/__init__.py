"""Text analysis for appeals: tokenizing, keyword-rule tag suggestions. A leaf package."""
