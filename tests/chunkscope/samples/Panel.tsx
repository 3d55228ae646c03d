// TSX: components as functions, arrow functions and classes.
import * as React from 'react';

export function Panel({ title }: { title: string }) {
  return <div className="panel">{title}</div>;
}

export const Row = ({ label }: { label: string }) => <span>{label}</span>;

export class Board extends React.Component<Props> {
  render() {
    return <Panel title="board" />;
  }
}
