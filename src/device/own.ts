// What a caller gave, as its code reads it: an object's own enumerable properties, each read once
// (a getter is not asked twice, and cannot answer a check one value and the call another), in an
// object of no prototype (Object.prototype.completion, set by a program or a library, is nothing
// given). Options, descriptor fields and fault rules are read through it.

/** A copy of o's own enumerable properties, in an object of no prototype. */
export const own = <T extends object>(o: T): T => Object.assign(Object.create(null) as T, o);
