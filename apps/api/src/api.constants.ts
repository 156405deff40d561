export const EVENT_STORE = Symbol('EVENT_STORE');
export const READ_MODEL = Symbol('READ_MODEL');
export const HELM_INVENTORY = Symbol('HELM_INVENTORY');
