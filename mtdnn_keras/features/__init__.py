"""Examples and the encoder inputs made of them: text pairs, span windows, words as word pieces."""
