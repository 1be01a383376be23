// The unmodified @chatkitty/core SDK with its peer dependencies, as one ES module for browsers.
export * from "@chatkitty/core";
