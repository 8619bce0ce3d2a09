export { type BuildLoginCellOptions, buildLoginCell } from './app';
export { loginErrors } from './errors';
export { type LoginSettings, loadLoginSettings } from './settings';
