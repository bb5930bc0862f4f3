package io.xformer.nn;

/** A module with no forward of its own, grouping children under one path segment (e.g. {@code embeddings}). */
public final class Container extends Module {}
