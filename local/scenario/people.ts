/**
 * People as an HR feed describes them, shared by the bundled scenario and the benchmarks: the
 * whole current profile (ExternalId, enterprise extension, one work email) goes with every change.
 */
import type { UserUpserted } from '../../lambdas/domain/identity-change';

export const EXTERNAL_ID_ISSUER = 'workday';
export const FIRST_NAMES = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances', 'John', 'Margaret', 'Ken'];
export const LAST_NAMES = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Allen', 'Backus', 'Hamilton', 'Thompson'];

export interface Person {
  userName: string;
  externalId: string;
  first: string;
  last: string;
  department: string;
  title: string;
}

export function userDocument(person: Person): UserUpserted['data']['user'] {
  return {
    UserName: person.userName,
    DisplayName: `${person.first} ${person.last}`,
    Name: { GivenName: person.first, FamilyName: person.last },
    Emails: [{ Value: `${person.userName}@example.com`, Type: 'work', Primary: true }],
    Title: person.title,
    UserType: 'Employee',
    Locale: 'en-GB',
    Timezone: 'Europe/London',
    Extensions: { 'aws:identitystore:enterprise': { department: person.department, employeeNumber: person.externalId } },
    ExternalIds: [{ Issuer: EXTERNAL_ID_ISSUER, Id: person.externalId }],
  };
}
