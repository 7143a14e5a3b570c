// The rule lives with the database it protects; procedures import it from here.
export { isStorableJson, isStorableText, UNSTORABLE_TEXT_MESSAGE } from '@herald/db';
