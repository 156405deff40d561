export const EVENT_STORE = Symbol('EVENT_STORE');
export const READ_MODEL = Symbol('READ_MODEL');
