// TypeScript: overloads, interfaces, abstract classes, namespaces, enums.
export interface Observer<T> {
  next(value: T): void;
  error?(err: unknown): void;
}

export function from<T>(input: T[]): Observable<T>;
export function from<T>(input: Promise<T>): Observable<T>;

/** Builds an observable. */
export function from<T>(input: any): Observable<T> {
  return new Observable<T>(input);
}

export abstract class Subscription {
  close(): void;
  close(reason: string): void;
  close(reason?: string): void {
    this.closed = true;
  }
}

export enum State {
  Open,
  Closed,
}

namespace Internal {
  export const helper = (x: number): number => x * 2;
}
